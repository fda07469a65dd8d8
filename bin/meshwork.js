#!/usr/bin/env node
// The compiled CLI lives in dist/ (npm run build); this shim keeps the package's bin path stable.
import '../dist/src/cli/main.js';
