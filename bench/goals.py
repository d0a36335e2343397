"""The one table of goals: every figure `make bench` prints, the goal the
project holds for it (a bound and its direction: at most / at least) and where
that goal comes from. A figure without a goal has None and prints "—".

Goals come from the issues that set them (`issues show N`) and the README's
measured table; none is made up here. A key may hold `*` for one part that
varies (a storm size, a lab node, a firmware path, a store).
"""
import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    op: str          # "≤" (at most), "≥" (at least) or "=" (exactly)
    bound: object    # a number, or True/False for "="

    def met(self, value):
        if value is None:
            return None
        if self.op == "≤":
            return value <= self.bound
        if self.op == "≥":
            return value >= self.bound
        return value == self.bound


def at_most(bound):
    return Goal("≤", bound)


def at_least(bound):
    return Goal("≥", bound)


def exactly(bound):
    return Goal("=", bound)


@dataclass(frozen=True)
class Row:
    key: str
    unit: str        # "ms", "s", "×", "/s", "MiB/s", "MiB", "GiB", "" (a count), "yes/no"
    digits: int      # decimals the figure is shown with
    goal: Goal | None
    source: str      # where the goal comes from (or why there is none)


NONE = ""

GOALS = [
    # registry: the CLI on a 10,000-node SQLite registry, whole processes
    Row("registry.import_ms", "ms", 1, at_most(1000), "issue 2 (foundation): import of 10,000 nodes ≤ 1 s; README"),
    Row("registry.add_ms", "ms", 1, at_most(20), "issue 2: one `node add` into 10,000 nodes, median ≤ 20 ms; README"),
    Row("registry.add_p90_ms", "ms", 1, None, NONE),
    Row("registry.add_min_ms", "ms", 1, None, NONE),
    Row("registry.list_ms", "ms", 1, None, "issue 2: printed, no goal"),

    # render: render + apply of 10,000 nodes, and a node add seen by a live dnsmasq
    Row("render.fresh_ext4.apply_ms", "ms", 1, at_most(1000), "issue 3 (render): render + apply of 10,000 nodes from empty ≤ 1 s; README"),
    Row("render.fresh_ext4.floor_ms", "ms", 1, None, "the file system's floor, printed beside"),
    Row("render.vm_root.apply_ms", "ms", 1, at_most(1000), "issue 3; README"),
    Row("render.vm_root.floor_ms", "ms", 1, None, "the file system's floor, printed beside"),
    Row("render.apply_again_ms", "ms", 1, at_most(100), "issue 17 step 5: apply with nothing to change ≤ 100 ms; README"),
    Row("render.live_add_ms", "ms", 1, at_most(20), "issue 3: until the live dnsmasq read it, median ≤ 20 ms; README"),
    Row("render.live_add_max_ms", "ms", 1, None, NONE),
    Row("render.live_add_same_pid", "yes/no", 0, exactly(True), "issue 3: dnsmasq's PID unchanged"),

    # image: builds, activate, rollback
    Row("image.bare_s", "s", 1, None, "bare mmdebstrap of the same packages, the yardstick"),
    Row("image.cold_s", "s", 1, None, NONE),
    Row("image.cold_vs_bare", "×", 2, at_most(1.1), "issue 4 (images): cold build / bare mmdebstrap ≤ 1.1"),
    Row("image.rebuild_s", "s", 1, at_most(20), "issue 4: rebuild with an unchanged package set ≤ 20 s"),
    Row("image.activate_ms", "ms", 0, at_most(1000), "issue 4: activate ≤ 1 s"),
    Row("image.rollback_ms", "ms", 0, at_most(1000), "issue 4: rollback ≤ 1 s"),

    # serve: boot files over HTTP against TFTP and nginx
    Row("serve.tftp_s", "s", 2, None, NONE),
    Row("serve.http_s", "s", 2, None, NONE),
    Row("serve.http_vs_tftp", "×", 0, at_least(10), "issue 5 (serve): HTTP ≥ 10× faster than TFTP"),
    Row("serve.parallel.serve_mib_s", "MiB/s", 0, None, NONE),
    Row("serve.parallel.nginx_mib_s", "MiB/s", 0, None, "nginx on the same file, the ceiling"),
    Row("serve.parallel.vs_nginx", "×", 2, at_least(0.8),
        "issue 5: 50 parallel fetches ≥ 0.8× nginx (issue 29, open, asks ≥ 0.9×)"),

    # api: 1,000 node controllers enroll, then heartbeat under wrk (SQLite)
    Row("cloud.mint_ms", "ms", 0, None, NONE),
    Row("cloud.join_together_s", "s", 1, None, "issue 27 step 8 asks for the figure, no goal"),
    Row("cloud.online", "", 0, None, NONE),
    Row("cloud.rejoin_s", "s", 2, None, NONE),
    Row("api.enroll_s", "s", 1, None, NONE),
    Row("api.enroll_per_s", "/s", 0, None, NONE),
    Row("api.fast.rps", "/s", 0, None, "as fast as answered: the ceiling, no goal"),
    Row("api.fast.p99_ms", "ms", 2, None, "latency at saturation, no goal"),
    Row("api.fast.non2xx", "", 0, None, NONE),
    Row("api.paced.rps", "/s", 0, at_least(10_000), "issue 6 and issue 17 step 5: ≥ 10,000/s with p99 ≤ 5 ms; README"),
    Row("api.paced.p99_ms", "ms", 2, at_most(5), "issue 6 and issue 17 step 5; README"),
    Row("api.paced.non2xx", "", 0, None, NONE),

    # postgres: the registry on PostgreSQL beside SQLite, same run
    Row("postgres.*.import_ms", "ms", 0, at_most(1000), "issue 2's import goal; README: PostgreSQL \"as SQLite\""),
    Row("postgres.*.add_ms", "ms", 1, at_most(20), "issue 2's node add goal, held to `--no-apply` in issue 14's note"),
    Row("postgres.api.enroll_s", "s", 1, None, NONE),
    Row("postgres.api.enroll_per_s", "/s", 0, None, NONE),
    Row("postgres.api.fast.rps", "/s", 0, None, "as fast as answered: the ceiling, no goal"),
    Row("postgres.api.fast.p99_ms", "ms", 2, None, "latency at saturation, no goal"),
    Row("postgres.api.fast.non2xx", "", 0, None, NONE),
    Row("postgres.api.paced.rps", "/s", 0, at_least(10_000), "README: \"as SQLite (missed: heartbeats)\"; issue 14"),
    Row("postgres.api.paced.p99_ms", "ms", 2, at_most(5), "README: \"as SQLite\"; issue 14"),
    Row("postgres.api.paced.non2xx", "", 0, None, NONE),
    Row("postgres.start.*_s", "s", 2, None, "a boot server's start with 10,000 nodes, no goal"),
    Row("postgres.propagation.commit_p50_ms", "ms", 1, None, NONE),
    Row("postgres.propagation.commit_p99_ms", "ms", 1, at_most(100),
        "issue 14 step 6: committed → read by every boot server's dnsmasq, p99 ≤ 100 ms; README"),
    Row("postgres.propagation.commit_max_ms", "ms", 1, None, NONE),
    Row("postgres.propagation.start_p50_ms", "ms", 1, None, NONE),
    Row("postgres.propagation.start_p99_ms", "ms", 1, None, "from the command's start; the goal is from the commit"),

    # storm: N simulated nodes boot at once against one serve
    Row("storm.*.failures", "", 0, exactly(0), "issue 17 step 4: 0 failures at every N; README"),
    Row("storm.*.all_enrolled_s", "s", 1, None, NONE),
    Row("storm.*.slowest_s", "s", 1, None, NONE),
    Row("storm.*.dhcp_answers_per_s", "/s", 0, None, NONE),
    Row("storm.*.dhcp_last_s", "s", 1, None, NONE),
    Row("storm.*.http_mib_s", "MiB/s", 0, None, NONE),
    Row("storm.*.nginx_alone_mib_s", "MiB/s", 0, None, "nginx alone for the same files and clients, the ceiling"),
    Row("storm.*.http_vs_nginx_alone", "×", 2, None,
        "no goal: issue 29 (open) asks ≥ 0.9× against nginx under the same load, not nginx alone"),
    Row("storm.*.nfs_mib_s", "MiB/s", 0, None, NONE),
    Row("storm.*.nfs_gib", "GiB", 1, None, NONE),
    Row("storm.*.nfs_last_s", "s", 1, None, NONE),

    # lab: QEMU nodes under TCG, power-on → enrolled
    Row("lab.pair.*.enrolled_s", "s", 0, at_most(30),
        "issue 17: ≤ 30 s each for two at once (replaces issue 7's ≤ 40 s); README"),
    Row("lab.pair.*.kernel_s", "s", 1, None, "as the node saw it"),
    Row("lab.pair.*.controller_start_s", "s", 1, None, "as the node saw it"),
    Row("lab.pair.*.userspace_s", "s", 1, None, "as the node saw it"),
    Row("lab.nfs.enrolled_s", "s", 0, at_most(25), "issue 17: ≤ 25 s for one node alone; README"),
    Row("lab.nfs.memory_used_mib", "MiB", 0, None, "issue 17: measured, no goal; README"),
    Row("lab.ram.enrolled_s", "s", 0, at_most(20),
        "issue 29 (open): a RAM-root node ≤ 20 s (issue 17's goal covered the NFS root only)"),
    Row("lab.ram.memory_used_mib", "MiB", 0, None, "issue 17: measured, no goal; README"),

    # firmware: one node alone per firmware path
    Row("firmware.*.enrolled_s", "s", 0, None, "issue 15: measured to show where the UEFI paths lose time, no goal"),
]


def row(key):
    """The table's row for KEY (the first whose pattern matches); KeyError if none."""
    for r in GOALS:
        if fnmatch.fnmatchcase(key, r.key):
            return r
    raise KeyError(f"bench/goals.py has no row for the figure {key!r}")


def number(value, unit, digits=None):
    """VALUE with its unit, DIGITS decimals (None: as few as it needs)."""
    if value is None:
        return "?"
    if unit == "yes/no":
        return "yes" if value else "no"
    text = f"{value:,g}" if digits is None else f"{value:,.{digits}f}"
    if unit in ("×", "/s"):
        return text + unit
    return f"{text} {unit}" if unit else text


def goal_text(key):
    """The goal of KEY as printed: "≤ 20 ms", "≥ 10,000/s", "= yes", or "—"."""
    r = row(key)
    if r.goal is None:
        return "—"
    return f"{r.goal.op} {number(r.goal.bound, r.unit)}"


def beside(key):
    """What a suite prints beside the figure KEY: "goal ≤ 20 ms" or "no goal"."""
    text = goal_text(key)
    return "no goal" if text == "—" else "goal " + text


def mark(key, value):
    """✓ if VALUE meets KEY's goal, ✗ if not, "" without a goal or a value."""
    r = row(key)
    met = r.goal.met(value) if r.goal else None
    return "" if met is None else ("✓" if met else "✗")


def table(rows):
    """Columns padded to their widest cell."""
    widths = [max(len(str(c)) for c in col) for col in zip(*rows)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def summary(by_suite):
    """The closing table: each figure measured, its value, its goal, met or not.
    BY_SUITE: suite name -> {key: value} in the order measured (an empty dict: skipped)."""
    rows = [("figure", "measured", "goal", "met")]
    skipped = []
    for suite, figures in by_suite.items():
        if not figures:
            skipped.append(suite)
        for key, value in figures.items():
            r = row(key)
            rows.append((key, number(value, r.unit, r.digits), goal_text(key), mark(key, value)))
    lines = table(rows)
    met = sum(1 for r in rows[1:] if r[3] == "✓")
    missed = [r[0] for r in rows[1:] if r[3] == "✗"]
    lines.append(f"{met} goal(s) met, {len(missed)} missed{': ' + ', '.join(missed) if missed else ''}"
                 f"{'; skipped or failed: ' + ', '.join(skipped) if skipped else ''}")
    return lines


def listing():
    """The goals table itself: key, goal, source."""
    return table([("figure", "goal", "source")] + [(r.key, goal_text(r.key), r.source or "—") for r in GOALS])
