# Gettext catalogues (Babel). The bot compiles .po files in memory at start-up;
# `make compile` writes .mo files too, and fails on a broken catalogue.
LOCALES := locales
LANGS := en ru zh_Hans zh_Hant

.PHONY: extract update compile init test lint

extract:
	pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location \
		--sort-output --project shopbot -o $(LOCALES)/messages.pot .

update: extract
	pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-fuzzy-matching --ignore-obsolete

init: extract
	for l in $(LANGS); do [ -f $(LOCALES)/$$l/LC_MESSAGES/messages.po ] || \
		pybabel init -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages -l $$l; done

compile:
	pybabel compile -d $(LOCALES) -D messages --statistics

test:
	scripts/test

lint:
	ruff check .
