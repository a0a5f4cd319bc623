#!/usr/bin/env node
// Runs the compiled CLI (npm run build, done by npm install through "prepare").
await import('../dist/cli.js');
