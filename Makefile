# Shortcuts for the scripts (they hold the logic and document their options).
.PHONY: dist dist-vendored demo test

dist:
	./scripts/dist.sh

dist-vendored:
	./scripts/dist.sh --vendored

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh
