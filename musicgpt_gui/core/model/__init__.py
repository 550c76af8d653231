"""model: attention, cached_decoder, checkpoints, generation, models, run_store, sampling, tf_runtime, training, vocab, warm_model."""
