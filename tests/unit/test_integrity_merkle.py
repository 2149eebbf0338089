"""RFC 6962/9162 Merkle trees: the published 8-leaf vectors, then properties over random sizes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.integrity.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    node_hash,
    perfect_root,
    verify_consistency,
    verify_inclusion,
)
from socialcredit.integrity.store import STORED_LEVEL, TILE, block_roots

# The test leaves of RFC 6962's reference implementation (certificate-transparency-go,
# transparency-dev/merkle testdata), and the roots of their prefixes D[0:1] .. D[0:8].
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
H = {
    "96a2": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f08": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "bc1a": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca85": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37e": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "fac5": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "6e34": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "0ebc": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
}
# (leaf index, tree size, path)
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
# (first size, second size, path)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
]

TREE = MemoryTree(leaf_hash(x) for x in LEAVES)


def _path(names: list[str]) -> list[bytes]:
    return [bytes.fromhex(H[n]) for n in names]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert MemoryTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_leaf_and_node_hashes_carry_the_rfc_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_of_every_prefix_match_the_vectors(n: int) -> None:
    assert TREE.root(n).hex() == ROOTS[n - 1]
    assert MemoryTree(leaf_hash(x) for x in LEAVES[:n]).root().hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, path: list[str]) -> None:
    assert TREE.inclusion_proof(index, size) == _path(path)
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), _path(path), root)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(first: int, second: int, path: list[str]) -> None:
    assert TREE.consistency_proof(first, second) == _path(path)
    a, b = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert verify_consistency(first, second, a, b, _path(path))


def test_perfect_root_agrees_with_the_tree() -> None:
    hashes = [leaf_hash(x) for x in LEAVES]
    assert perfect_root(b"".join(hashes)).hex() == ROOTS[7]


def test_out_of_range_inputs_never_verify() -> None:
    root = bytes.fromhex(ROOTS[7])
    assert not verify_inclusion(8, 8, leaf_hash(LEAVES[0]), _path(["96a2"]), root)
    assert not verify_inclusion(-1, 8, leaf_hash(LEAVES[0]), [], root)
    assert not verify_consistency(8, 6, root, root, [])
    assert not verify_consistency(6, 8, root, root, [])
    with pytest.raises(ValueError):
        TREE.inclusion_proof(8, 8)


def _tree(n: int) -> MemoryTree:
    return MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))


BIG = _tree(600)


def _flip(b: bytes, bit: int) -> bytes:
    i = (bit // 8) % len(b)
    return b[:i] + bytes([b[i] ^ (1 << (bit % 8))]) + b[i + 1 :]


@st.composite
def leaf_in_tree(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, BIG.size))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(1, BIG.size))
    return draw(st.integers(1, second)), second


@settings(max_examples=300, deadline=None)
@given(leaf_in_tree(), st.integers(0, 10_000))
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(
    at: tuple[int, int], bit: int
) -> None:
    index, size = at
    leaf = BIG.node(0, index)
    root = BIG.root(size)
    proof = BIG.inclusion_proof(index, size)
    assert verify_inclusion(index, size, leaf, proof, root)
    assert not verify_inclusion(index, size, _flip(leaf, bit), proof, root)
    assert not verify_inclusion(index, size, leaf, proof, _flip(root, bit))
    if proof:
        k = bit % len(proof)
        bad = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
        assert not verify_inclusion(index, size, leaf, bad, root)
        assert not verify_inclusion(index, size, leaf, proof[:-1], root)
    assert not verify_inclusion(index, size, leaf, [*proof, root], root)


@settings(max_examples=300, deadline=None)
@given(two_sizes(), st.integers(0, 10_000))
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(
    sizes: tuple[int, int], bit: int
) -> None:
    first, second = sizes
    a, b = BIG.root(first), BIG.root(second)
    proof = BIG.consistency_proof(first, second)
    assert verify_consistency(first, second, a, b, proof)
    assert not verify_consistency(first, second, _flip(a, bit), b, proof)
    assert not verify_consistency(first, second, a, _flip(b, bit), proof)
    if proof:
        k = bit % len(proof)
        bad = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
        assert not verify_consistency(first, second, a, b, bad)
        assert not verify_consistency(first, second, a, b, proof[:-1])
    if first < second:
        assert not verify_consistency(first, second, a, b, [*proof, a])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 70), min_size=1, max_size=8))
def test_appending_in_batches_gives_the_tree_of_appending_at_once(batches: list[int]) -> None:
    t = MemoryTree()
    n = 0
    for k in batches:
        t.extend(leaf_hash(i.to_bytes(4, "big")) for i in range(n, n + k))
        n += k
    whole = _tree(n)
    assert t.levels == whole.levels
    assert t.root() == whole.root()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 700), st.integers(0, 900))
def test_block_roots_are_the_trees_stored_level_nodes_wherever_the_leaves_start(
    start: int, n: int
) -> None:
    tree = _tree(start + n)
    hashes = bytes(tree.levels[0][start * 32 :])
    got = block_roots(start, hashes)
    whole = list(range(-(-start // TILE), (start + n) // TILE))
    assert sorted(got) == whole
    assert all(got[b] == tree.node(STORED_LEVEL, b) for b in whole)
