"""``python -m pcnopt COMMAND …``: the same as the ``pcnopt`` console script."""

from pcnopt.cli import run

if __name__ == "__main__":
    run()
