"""eggbot's benchmark: the real bot against the project's fake Discord and fake EggAPI on 127.0.0.1.

Run ``python -m bench --help``; see ``bench/README.md``.
"""
