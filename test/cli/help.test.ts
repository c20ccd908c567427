// `--help` is written for users: every registered command (including ones added later) has a
// one-sentence summary, a description without hard line breaks inside sentences, and a help
// text for every argument and option; no internal jargon ("oracle").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerCommands } from '../../src/frontends/cli/commands/index.ts';
import { cli } from './helpers.ts';

function allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c, ...allCommands(c)]);
}

const program = new Command('cma-debug');
registerCommands(program);
const commands = allCommands(program);

describe('cma-debug --help', () => {
  it('registers commands', () => assert.ok(commands.length >= 10));

  for (const cmd of commands) {
    const name = cmd.name();
    it(`${name}: a summary sentence, a description without hard breaks, help on every option`, () => {
      const summary = cmd.summary();
      assert.ok(summary, `${name}: no .summary()`);
      assert.match(summary, /^[A-Z][^\n]*\.$/, `${name}: the summary is not one sentence: ${summary}`);
      assert.ok(summary.length <= 90, `${name}: summary longer than 90 characters`);
      const desc = cmd.description();
      assert.ok(desc.length > summary.length / 2, `${name}: no description`);
      // a single line break inside prose is a hard break; paragraphs (\n\n) and indented examples are fine
      for (const m of desc.matchAll(/[^\n]\n(?![\n ])/g))
        assert.fail(
          `${name}: hard line break in the description near ${JSON.stringify(desc.slice(m.index, m.index + 40))}`,
        );
      for (const a of cmd.registeredArguments)
        assert.ok(a.description.trim().length > 3, `${name}: argument ${a.name()} has no help`);
      for (const o of cmd.options) {
        if (o.hidden) continue;
        assert.ok(o.description.trim().length > 3, `${name}: option ${o.flags} has no help`);
        assert.doesNotMatch(o.description, /\n/, `${name}: option ${o.flags} help has a line break`);
      }
      const text = cmd.helpInformation();
      assert.doesNotMatch(text, /\boracle\b/i, `${name}: "oracle" means nothing to a user`);
    });
  }

  it('each option name has one meaning: --area is a geometry spec, --name an area name', () => {
    for (const cmd of commands)
      for (const o of cmd.options) {
        if (o.hidden) continue; // (old spellings kept for scripts)
        if (o.long === '--area') assert.match(o.flags, /<spec>/, `${cmd.name()}: ${o.flags}`);
        if (o.long === '--name') assert.match(o.flags, /<area>/, `${cmd.name()}: ${o.flags}`);
      }
  });

  it('the program and a command print help with exit status 0; a bad option is 2', () => {
    const top = cli(['--help']);
    assert.equal(top.status, 0);
    const flat = top.stdout.replace(/\s+/g, ' ');
    for (const cmd of program.commands) assert.ok(flat.includes(cmd.summary()), cmd.name());
    assert.equal(cli(['plan', '--help']).status, 0);
    const bad = cli(['plan', '--no-such-option']);
    assert.equal(bad.status, 2);
    assert.equal(cli(['no-such-command']).status, 2);
  });
});
