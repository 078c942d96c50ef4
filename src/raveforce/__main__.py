"""`python -m raveforce`: the command line (`raveforce.app.main`)."""

from raveforce.app.main import main

if __name__ == "__main__":
    raise SystemExit(main())
