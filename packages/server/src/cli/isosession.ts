#!/usr/bin/env node
// The `isosession` bin of @isosession/server: from dist after a build, or from source with
// `node --conditions=@isosession/source --import tsx src/cli/isosession.ts`.
import { runCli } from './runCli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
