"""The self-test (``musicgpt self-test``), in one package.

- ``checks``: the step runner and the checks of what each step left behind (Qt-free).
- ``steps``: the steps, each running a real ``musicgpt`` sub-command through the runner it is given.
- ``page_check``: the one Qt step, loading the attention page in an offscreen QtWebEngine view.
"""
