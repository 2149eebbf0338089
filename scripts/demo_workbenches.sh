#!/bin/sh
# The workbenches' demo accounts (issue 12), one per role, all with the password below, and
# where each one works. Run by `make demo` after `socialcredit init`; safe to run again.
set -u
SC=${SC:-socialcredit}
PW=${DEMO_PASSWORD:-demo-password-2026}
add() {  # username role display-name [scope options...]
  u=$1; r=$2; n=$3; shift 3
  echo "$PW" | $SC user add "$u" --role "$r" --name "$n" "$@" --password-stdin >/dev/null 2>&1 || true
}
add demo.operator operator 管理员
add demo.clerk clerk 民航局报送员 --authority CAAC
add demo.reviewer reviewer 复核员 --review-body registry --review-level first
$SC reviewer add demo.reviewer --name 复核员 --body registry --level first >/dev/null 2>&1 || true
add demo.counter party_clerk 售票员 --party CAAC-AIR
add demo.official official 统计人员
BASE=${BASE:-http://127.0.0.1:8000}
cat <<TXT
Workbenches (password for every demo account: $PW)
  authority clerk      $BASE/clerk      demo.clerk      (files for CAAC; API: POST /v1/batches)
  reviewer             $BASE/review     demo.reviewer   (registry, first level)
  counter clerk        $BASE/counter    demo.counter    (CAAC-AIR: flight)
  official             $BASE/dashboard  demo.official   (aggregates only)
  operator             $BASE/admin/users demo.operator
  public register      $BASE/register   (no account)
TXT
