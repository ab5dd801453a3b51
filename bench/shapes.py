"""The model shapes the bench scripts build, as `LlamaConfig.namedShapes` in Swift (Hugging Face config keys);
no import of torch, so every engine's script can read them."""

SHAPES = {
    "smollm-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                        num_key_value_heads=3, vocab_size=49152, rms_norm_eps=1e-5, rope_theta=10000.0,
                        max_position_embeddings=2048, tie_word_embeddings=True),
    # The demo's model (its base and policy train at batch 16 of ~110-token sequences).
    "demo-tiny": dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=6,
                      num_key_value_heads=2, vocab_size=1024, rms_norm_eps=1e-5, rope_theta=10000.0,
                      max_position_embeddings=2048, tie_word_embeddings=True),
}
