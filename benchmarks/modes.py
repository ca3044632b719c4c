"""The two large-upload modes the benchmark runs, by their JSON key, with their table titles."""

MODES = {"single": "one request", "chunked": "8 MiB chunks"}
