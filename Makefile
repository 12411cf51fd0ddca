.PHONY: app test setup benchmarks

app: setup
	.venv/bin/sda2 app

test:
	scripts/setup.sh --browser
	.venv/bin/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=20

setup:
	scripts/setup.sh

benchmarks: setup
	for b in benchmarks/bench_*.py; do .venv/bin/python $$b || exit 1; done
