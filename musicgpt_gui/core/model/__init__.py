"""model: attention, cached_decoder, checkpoints, generation, gpt2_backend (the only gpt_2_simple importer), models,
run_store, sampling, tf_runtime, training, vocab, warm_model."""
