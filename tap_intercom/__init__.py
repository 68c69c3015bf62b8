"""tap-intercom: a Singer tap for Intercom."""
__version__ = "0.1.0"


def main():
    from tap_intercom.cli import main as cli_main
    return cli_main()
