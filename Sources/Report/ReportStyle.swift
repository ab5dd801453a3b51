/// The page's stylesheet, inlined: system fonts only, so the page looks the same offline.
enum ReportStyle {
    static let css = """
        :root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --page: #f6f7f9; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1240px; padding: 20px 28px 48px; background: var(--page); color: var(--ink);
               font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
        h1 { font-size: 24px; margin: 0; }
        h2 { font-size: 18px; margin: 28px 0 10px; }
        h3 { font-size: 15px; margin: 22px 0 8px; }
        h3 small, .where { color: var(--muted); font-weight: normal; }
        .where { margin: 2px 0 0; }
        code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); }
        .verdict { margin: 16px 0 0; padding: 12px 16px; background: #eef6ff; border-left: 4px solid #2563eb;
                   font-size: 16px; font-weight: 600; }
        table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
        th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; }
        th { font-weight: 600; font-size: 12px; color: var(--muted); }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .legend { margin: 18px 0 4px; }
        .legend span { margin-right: 22px; }
        .legend i { display: inline-block; width: 22px; height: 4px; margin: 0 6px 3px 0; vertical-align: middle;
                    border-radius: 2px; }
        .charts .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
        .charts.diagnostics .grid { grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; }
        figure { margin: 0; padding: 10px 12px 4px; background: var(--card); border: 1px solid var(--line);
                 border-radius: 6px; }
        figcaption { font-size: 13px; }
        figcaption span { color: var(--muted); }
        .diagnostics figcaption span { display: none; }
        svg.chart { display: block; width: 100%; height: auto; overflow: visible; }
        svg.chart .grid line { stroke: #eceef1; stroke-width: 1; }
        svg.chart .grid line.zero { stroke: #9ca3af; }
        svg.chart .grid .frame { fill: none; stroke: #d1d5db; }
        svg.chart text { font-size: 11px; fill: var(--muted); }
        svg.chart text.y { text-anchor: end; dominant-baseline: middle; }
        svg.chart text.x { text-anchor: middle; }
        svg.chart text.axis { text-anchor: end; }
        svg.chart .band { opacity: 0.16; stroke: none; }
        svg.chart .target line { stroke: #111827; stroke-width: 1.2; stroke-dasharray: 5 4; }
        svg.chart .target text { font-size: 11px; fill: #111827; }
        svg.chart .mean { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
        svg.chart .hover rect { fill: transparent; }
        svg.chart .hover rect:hover { fill: rgba(17, 24, 39, 0.07); }
        .diagnostics svg.chart .mean { stroke-width: 1.5; }
        .sample { margin: 10px 0; padding: 10px 14px; background: var(--card); border: 1px solid var(--line);
                  border-radius: 6px; }
        .sample header { color: var(--muted); font-size: 12px; margin-bottom: 6px; }
        .sample header b { color: var(--ink); text-transform: uppercase; letter-spacing: 0.04em; margin-right: 6px; }
        .pair { display: grid; grid-template-columns: minmax(0, 1.1fr) minmax(0, 1fr); gap: 18px; }
        .response { white-space: pre-wrap; font: 14px/1.9 ui-monospace, "DejaVu Sans Mono", monospace;
                    overflow-wrap: anywhere; }
        .tok { border-radius: 3px; padding: 1px 0; }
        .tok.span-good { border-bottom: 2px solid #15803d; }
        .tok.span-poor { border-bottom: 2px solid #b91c1c; }
        .critique { font-size: 13px; border-left: 3px solid var(--line); padding-left: 14px; }
        .critique .text { margin: 0 0 6px; white-space: pre-wrap; }
        .critique .failure { color: #b91c1c; margin: 0 0 6px; }
        .critique .raw { white-space: pre-wrap; font-size: 12px; color: var(--muted); max-height: 10em;
                         overflow: auto; }
        .spans { margin: 0; padding: 0; list-style: none; }
        .spans li { margin: 3px 0; }
        .spans .label { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; margin-right: 4px;
                        background: #f3f4f6; }
        .spans .good .label { background: #dcfce7; color: #166534; }
        .spans .poor .label { background: #fee2e2; color: #991b1b; }
        .spans .match { font-size: 11px; color: var(--muted); }
        .before-after { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
        .before-after .pair { grid-template-columns: minmax(0, 1fr); gap: 8px; }
        .before-after .critique { border-left: none; border-top: 1px solid var(--line); padding: 6px 0 0; }
        details.prompt summary { cursor: pointer; color: var(--muted); font-size: 12px; }
        details.prompt pre { white-space: pre-wrap; font-size: 12px; background: #f9fafb; padding: 8px; margin: 4px 0; }
        .key { color: var(--muted); }
        .key .tok { color: var(--ink); padding: 1px 3px; }
        .rates { color: var(--muted); font-size: 12px; }
        .settings summary { cursor: pointer; color: var(--muted); margin-top: 28px; }
        .settings td { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; padding: 2px 10px; }
        @media (max-width: 800px) {
            .charts .grid, .charts.diagnostics .grid, .pair, .before-after { grid-template-columns: minmax(0, 1fr); }
        }
        """
}
