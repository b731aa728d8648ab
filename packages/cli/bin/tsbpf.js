#!/usr/bin/env node
// A committed launcher, so npm links the `tsbpf` bin at install time, before
// dist/ is built (npm skips bins whose target does not exist yet).
import "../dist/cli.js";
