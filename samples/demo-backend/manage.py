#!/usr/bin/env python3
"""A stand-in for the Django backend's manage.py, so CronFunctions can run real jobs without Django.

It accepts the six jobs' commands and options as the real management commands declare them, rejects anything
else the way Django does (unknown command: message on stderr, exit 1; bad option: argparse usage + error on stderr,
exit 2; a CommandError: "CommandError: ..." on stderr, exit 1), prints a few progress lines, and takes a few seconds.

Environment (all optional):
  DEMO_BACKEND_SECONDS  how long a run takes, in seconds (default 3; 0 = at once)
  DEMO_BACKEND_FAIL     make runs fail part-way (exit 1): "1"/"true"/"all" for every run, or a comma-separated
                        list of command names and/or job names (CRON_JOB, set by CronFunctions), e.g.
                        "sopn-parse,parties_import_from_ec"
  CRON_JOB, CRON_RUN_ID set by CronFunctions for each run; printed so a run's output can be matched to its record

SIGTERM (how the app stops a job) and SIGINT end the run with a line on stderr and exit 143 / 130.
Python 3 standard library only.
"""

import argparse
import datetime
import difflib
import os
import signal
import sys
import time

SECONDS_SETTING = "DEMO_BACKEND_SECONDS"
FAIL_SETTING = "DEMO_BACKEND_FAIL"
DEFAULT_SECONDS = 3.0


class CommandError(Exception):
    """As Django's: printed as "CommandError: <message>" on stderr, exit code 1."""


def valid_date(value):
    # Named as the real command's type function, so argparse says "invalid valid_date value: 'x'" as Django does.
    return datetime.date.fromisoformat(value)


def add_django_options(parser):
    """The options Django's BaseCommand gives every command."""
    parser.add_argument("--version", action="version", version="demo-backend (stands in for Django)")
    parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1,
                        help="Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output")
    parser.add_argument("--settings", help="A Python path to a settings module (ignored by the demo).")
    parser.add_argument("--pythonpath", help="A directory to add to the Python path (ignored by the demo).")
    parser.add_argument("--traceback", action="store_true", help="Raise on CommandError exceptions.")
    parser.add_argument("--no-color", action="store_true", help="Don't colorize the command output.")
    parser.add_argument("--force-color", action="store_true", help="Force colorization of the command output.")
    parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")


def elections_options(parser):
    parser.add_argument("--full", action="store_true", help="Do a full import of all elections")
    parser.add_argument("--poll-open-date", type=valid_date,
                        help="Just import elections for polls that open on a given date (YYYY-MM-DD)")
    parser.add_argument("--recently-updated", dest="recently_updated", action="store_true",
                        help="Only import elections updated since the last EveryElection modified date")
    parser.add_argument("--recently-updated-delta", dest="recently_updated_delta", type=int,
                        help="Subtract this many hours from the time used by --recently-updated")
    parser.add_argument("--check-current", dest="check_current", action="store_true",
                        help="Check that current elections are still current in EveryElection")


def elections_check(options):
    if options.recently_updated_delta and not options.recently_updated:
        raise CommandError("--recently-updated-delta only works with --recently-updated")


def elections_steps(options):
    if options.check_current:
        return ["checking elections past their poll date", "counting current ballots in EveryElection",
                "comparing with local current ballots"]
    since = "the last EveryElection update"
    if options.recently_updated and options.recently_updated_delta:
        since += " minus %d h" % options.recently_updated_delta
    return ["fetching elections modified since " + since if options.recently_updated else "fetching elections",
            "creating or updating ballots", "deleting elections deleted upstream"]


def parties_options(parser):
    parser.add_argument("--clear-emblems", action="store_true", help="Delete all emblems and download them again")
    parser.add_argument("--output-new-parties", action="store_true", help="Write newly created parties to stdout")
    parser.add_argument("--skip-create-joint", action="store_true", help="Don't make joint pseudo-parties")
    parser.add_argument("--post-to-slack", action="store_true", help="Post newly registered parties to Slack")


def parties_steps(options):
    steps = ["downloading the Electoral Commission's register", "importing parties, descriptions and emblems"]
    if not options.skip_create_joint:
        steps.append("creating joint parties")
    if options.post_to_slack:
        steps.append("posting new parties to Slack (demo: nothing sent)")
    return steps


def no_options(parser):
    pass


COMMANDS = {
    "uk_create_elections_from_every_election": (
        "Create posts and elections from EveryElection", elections_options, elections_check, elections_steps),
    "parties_import_from_ec": (
        "Import political parties from the Electoral Commission", parties_options, None, parties_steps),
    "moderation_queue_process_queued_images": (
        "Detect faces in queued images", no_options, None,
        lambda options: ["listing undecided queued images", "detecting faces", "saving crops"]),
    "sopn_parsing_process_unparsed": (
        "Process SOPNs whose parsing is unfinished", no_options, None,
        lambda options: ["checking Textract jobs", "parsing tables", "creating raw people for bulk adding"]),
}


def build_parsers(prog):
    """One parser per command, as Django gives each management command its own (prog "manage.py <command>")."""
    root = argparse.ArgumentParser(prog=prog, add_help=False)
    commands = root.add_subparsers(dest="command", metavar="subcommand")
    for name, (help_text, add_options, _, _) in COMMANDS.items():
        parser = commands.add_parser(name, prog="%s %s" % (prog, name), help=help_text, description=help_text)
        add_django_options(parser)
        add_options(parser)
    return commands.choices


def main_help(prog):
    lines = ["", "Type '%s help <subcommand>' for help on a specific subcommand." % prog, "",
             "Available subcommands (demo backend: a stand-in for the Django project):", "", "[demo]"]
    lines += ["    " + name for name in sorted(COMMANDS)]
    return "\n".join(lines) + "\n"


def wants_failure(command):
    """DEMO_BACKEND_FAIL: all runs, or those whose command name or job name (CRON_JOB) is listed."""
    value = os.environ.get(FAIL_SETTING, "").strip()
    if value.lower() in ("", "0", "false", "no", "off"):
        return False
    if value.lower() in ("1", "true", "yes", "on", "all", "*"):
        return True
    names = {part.strip() for part in value.split(",") if part.strip()}
    return command in names or os.environ.get("CRON_JOB", "") in names


def run_seconds():
    raw = os.environ.get(SECONDS_SETTING, "").strip()
    if not raw:
        return DEFAULT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise CommandError("%s must be a number of seconds, 0 or more; got %r" % (SECONDS_SETTING, raw))
    return seconds


def handle_signals(command):
    def stop(signum, frame):
        name = signal.Signals(signum).name
        print("%s: received %s, stopping before the work is done" % (command, name), file=sys.stderr, flush=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def run(command, argv, options):
    _, _, check, steps_for = COMMANDS[command]
    if check is not None:
        check(options)
    seconds = run_seconds()
    fail = wants_failure(command)
    steps = steps_for(options)

    job = os.environ.get("CRON_JOB")
    run_id = os.environ.get("CRON_RUN_ID")
    started = "Starting %s (demo backend, pid %d" % (" ".join([command] + argv), os.getpid())
    if job:
        started += ", job %s" % job
    if run_id:
        started += ", run %s" % run_id
    print(started + ")", flush=True)

    begin = time.monotonic()
    for index, step in enumerate(steps, start=1):
        # Sleep until this step's share of the run has passed (not a fixed sleep per step, so the total holds).
        remaining = begin + seconds * index / len(steps) - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        print("%s: step %d/%d: %s" % (command, index, len(steps), step), flush=True)
        if fail and index == 1:
            raise CommandError("%s failed on purpose (%s=%s)" % (command, FAIL_SETTING, os.environ.get(FAIL_SETTING)))

    print("%s: done in %.1f s" % (command, time.monotonic() - begin), flush=True)


def main(argv):
    prog = os.path.basename(argv[0]) if argv else "manage.py"
    parsers = build_parsers(prog)
    args = argv[1:]
    command = args[0] if args else "help"

    if command in ("help", "-h", "--help"):
        if command == "help" and len(args) > 1:
            if args[1] not in parsers:
                return unknown_command(prog, args[1])
            parsers[args[1]].print_help()
        else:
            sys.stdout.write(main_help(prog))
        return 0
    if command == "--version":
        print("demo-backend (stands in for Django)")
        return 0
    if command not in parsers:
        return unknown_command(prog, command)

    handle_signals(command)
    options = parsers[command].parse_args(args[1:])  # exits 2 with usage and the error on stderr, as Django does
    try:
        run(command, args[1:], options)
    except CommandError as error:
        print("CommandError: %s" % error, file=sys.stderr, flush=True)
        return 1
    return 0


def unknown_command(prog, command):
    message = "Unknown command: %r" % command
    close = difflib.get_close_matches(command, COMMANDS)
    if close:
        message += ". Did you mean %s?" % close[0]
    sys.stderr.write("%s\nType '%s help' for usage.\n" % (message, prog))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
