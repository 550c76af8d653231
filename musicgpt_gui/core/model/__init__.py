"""model: attention, cached_decoder, checkpoints, generation, gpt2_backend (the only gpt_2_simple importer), models,
run_store (the run folder), sampling, tf_runtime, training, vocab, warm_model, workflows (what both front ends do)."""
