"""Tools that users run (``python -m labseg.tools.<name>``) and the library never imports: the benchmark,
the GPU check and the build of the shipped model."""
