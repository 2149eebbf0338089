"""``socialcredit log ...``: the transparency log from the command line. Registered by
``cli.COMMAND_MODULES``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from socialcredit.runtime.console import JsonOpt, cli_registry, err, errors, out, print_json

if TYPE_CHECKING:
    from socialcredit.integrity.verify import LogVerdict

app = typer.Typer(no_args_is_help=True, help="The transparency log: heads, proofs, verification.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="log")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@app.command("key")
def key_cmd(as_json: JsonOpt = False) -> None:
    """Print the log's verifier key (made on first use), to publish and give to witnesses."""
    from socialcredit.integrity.heads import key_path, log_key

    with errors(as_json):
        reg = cli_registry()
        k = log_key(reg.settings)
        info = {"vkey": k.vkey(), "private_key_file": str(key_path(reg.settings))}
        print_json(info) if as_json else typer.echo(k.vkey())


@app.command("head")
def head_cmd(
    sign: Annotated[
        bool, typer.Option("--sign", help="sign a head of the tree as it is now")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the latest signed tree head (its checkpoint, as signed)."""
    from socialcredit.errors import NotFound
    from socialcredit.integrity.heads import latest_head, log_key, sign_head

    with errors(as_json):
        reg = cli_registry()
        if sign:
            with reg.engine.begin() as conn:
                sign_head(conn, log_key(reg.settings), reg.now())
        with reg.engine.connect() as conn:
            head = latest_head(conn)
        if head is None:
            raise NotFound("no signed tree head yet (sign one with `log head --sign`)")
        print_json(head.to_dict()) if as_json else typer.echo(head.checkpoint, nl=False)


@app.command("prove")
def prove_cmd(
    leaf: Annotated[int, typer.Argument(help="the leaf's index in the log")],
    size: Annotated[int | None, typer.Option(help="tree size; default the latest head's")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The inclusion proof of LEAF in a signed tree, checked here against the head's root."""
    from socialcredit.errors import NotFound
    from socialcredit.integrity import merkle, store
    from socialcredit.integrity.heads import latest_head

    with errors(as_json):
        reg = cli_registry()
        with reg.engine.connect() as conn:
            head = latest_head(conn)
            if size is None and head is None:
                raise NotFound("no signed tree head yet: give --size")
            n = size if size is not None else head.size  # type: ignore[union-attr]
            proof = store.inclusion_proof(conn, leaf, n)
            lh = store.leaf_hash_at(conn, leaf)
            root = store.root_at(conn, n)
        ok = merkle.verify_inclusion(leaf, n, lh, proof, root)
        info = {
            "leaf": leaf,
            "size": n,
            "leaf_hash": _b64(lh),
            "root": _b64(root),
            "proof": [_b64(p) for p in proof],
            "verified": ok,
            "checkpoint": head.checkpoint if head is not None and head.size == n else None,
        }
        if as_json:
            print_json(info)
        else:
            out.print(f"leaf {leaf} in tree of size {n}: {'verified' if ok else 'DOES NOT VERIFY'}")
            out.print(f"leaf hash {info['leaf_hash']}\nroot      {info['root']}")
            for i, p in enumerate(info["proof"]):  # type: ignore[arg-type]
                out.print(f"  {i:2d} {p}")
        if not ok:
            raise typer.Exit(1)


@app.command("verify")
def verify_cmd(
    key: Annotated[
        str | None, typer.Option(help="the published verifier key; default the key file's")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the tree and every leaf from the rows it stands for; check the signed heads.

    Exit status 1 when anything is wrong, each problem named."""
    from socialcredit.integrity.verify import verify_stored

    with errors(as_json):
        reg = cli_registry()
        verdict = verify_stored(reg.engine, reg.settings, key)
        print_verdict(verdict, as_json)


def print_verdict(verdict: LogVerdict, as_json: bool) -> None:
    """Print a verdict of ``log verify`` (also ``audit verify``'s); exit 1 unless intact."""
    if as_json:
        print_json(verdict.to_dict())
    else:
        state = "[green]intact[/]" if verdict.ok else "[red]NOT INTACT[/]"
        out.print(
            f"log {state}: {verdict.leaves} leaves, latest head size {verdict.head_size}, "
            f"{verdict.rows_checked} rows recomputed"
        )
        for p in verdict.problems:
            err.print(f"  - {p}", highlight=False)
        for b in verdict.bad_leaves:
            err.print(f"  - {b}", highlight=False)
        if verdict.bad_leaf_count > len(verdict.bad_leaves):
            err.print(f"  ... {verdict.bad_leaf_count - len(verdict.bad_leaves)} more")
    if not verdict.ok:
        raise typer.Exit(1)


@app.command("monitor")
def monitor_cmd(
    url: Annotated[str, typer.Argument(help="the registry's base URL, e.g. http://host:8000")],
    state: Annotated[Path, typer.Option("--state", help="the witness's state file")],
    as_json: JsonOpt = False,
) -> None:
    """Witness a registry at URL: check its new head against the last one seen (signature,
    consistency), cosign it and remember it. Exit status 2 on an inconsistent log."""
    from socialcredit.integrity.witness import Witness, monitor

    with errors(as_json):
        w = Witness.open(state)
        got = monitor(url, w)
        if as_json:
            print_json({**got, "witness_vkey": w.key.vkey()})
        else:
            prev = got["previous_size"]
            seen = "first head" if prev is None else f"consistent with size {prev}"
            out.print(f"head of size {got['size']}: {seen}; cosigned")
            typer.echo(got["cosigned"], nl=False)
