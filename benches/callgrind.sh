# Shared by the callgrind benchmark scripts (sourced, not run): the instructions of one run
# of scalesim, counting only the run itself, and per-request figures from them. The caller
# sets `bin` (the binary) and `work` (a scratch folder).

measure() { # experiment file -> "instructions requests"
    local ins reqs
    ins=$(valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
        --toggle-collect='scalesim::experiment::run_unit*' \
        "$bin" run "$1" --out "$work/out" --threads 1 --quiet 2>&1 |
        awk '/Collected/ {print $4}')
    reqs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['points'][0]['metrics']['requests']['mean'])" "$work/out/summary.json")
    echo "$ins $reqs"
}

marginal() { # short.ron long.ron -> instructions per request between the two runs
    local ia ra ib rb
    read -r ia ra <<<"$(measure "$1")"
    read -r ib rb <<<"$(measure "$2")"
    awk -v ia="$ia" -v ib="$ib" -v ra="$ra" -v rb="$rb" 'BEGIN { printf "%.0f", (ib - ia) / (rb - ra) }'
}

measure_floor() { # floor binary, bare|stats -> "instructions requests"
    local reqs ins
    reqs=$(valgrind --tool=callgrind --callgrind-out-file="$work/floor.out" \
        --toggle-collect='floor::floor_loop::simulate' "$1" "$2" 2>"$work/floor.err" | awk '{print $1}')
    ins=$(awk '/Collected/ {print $4}' "$work/floor.err")
    echo "$ins $reqs"
}
