"""The SuperCollider backend: OSC encoding (`osc`), the scsynth process and its NRT renders
(`scsynth`), the renderers an env plays its steps with (`render`: the kept-alive stream and the
paper's one-shot NRT), and the sclang client and launcher for the RaveForce quark (`sclang`).

May import: `raveforce.errors`, `raveforce.task`, `raveforce.audio`; nothing else of RaveForce.
Imported on demand: `import raveforce` does not start or load anything here.
"""
