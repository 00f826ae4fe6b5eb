"""The engine: `Value` and `Tensor` graphs, their derivative rules and the reverse sweep.

Everything above this folder (nn, inspection, flow, render, cli) reads graphs through
the protocol in `graph.py`; nothing in here imports from above.
"""
