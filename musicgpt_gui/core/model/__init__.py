"""GPT-2 on TensorFlow, through gpt-2-simple's modules.

``gpt2_backend`` (the only importer of gpt_2_simple), ``tf_runtime`` (TensorFlow set-up), ``vocab``
(atomic and BPE vocabularies), ``models`` (the model store), ``run_store`` and ``checkpoints`` (a
run's folder and its checkpoints), ``training`` (our loop), ``workflows`` (what both front ends do),
``warm_model``, ``cached_decoder``, ``sampling`` and ``generation`` (warm generation), ``attention``
(exact attention weights, pooled per element), ``rollout`` (attention rollout).
"""
