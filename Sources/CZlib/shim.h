// zlib from the system (Debian `zlib1g-dev`; part of the SDK on Apple platforms), for gzipped task files.
#include <zlib.h>
