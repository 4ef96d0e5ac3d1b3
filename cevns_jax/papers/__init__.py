"""Reproductions of the papers: thin drivers over analyses and inference."""
