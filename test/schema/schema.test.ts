// The file formats (config, state, snapshot) and the HTTP routes' inputs through one schema
// layer: every refusal is one line naming the JSON path, the value and what was expected; the
// published schema/snapshot.schema.json is the one generated from the loader's own schema.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { snapshotJsonSchemaText } from '../../scripts/gen-schema.ts';
import { createSystem } from '../../src/core/create.ts';
import { parseState, stateToJson, systemToState } from '../../src/core/state.ts';
import { createServer } from '../../src/frontends/http/server.ts';
import { emulatorSource } from '../../src/sources/emulator-source.ts';
import { readAreas } from '../../src/sources/model.ts';
import { fileKind } from '../../src/sources/open.ts';
import {
  formatSnapshot,
  parseSnapshot,
  snapshotFromTree,
  treeFromSnapshot,
} from '../../src/sources/snapshot.ts';

const ROOT = path.join(import.meta.dirname, '../..');

function refuses(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const m = (e as Error).message;
    assert.equal(m.split('\n').length, 1, m);
    assert.match(m, pattern);
    return true;
  });
}

describe('config files', () => {
  const cfg = (doc: unknown) => () => createSystem({ configText: JSON.stringify(doc), configName: 'a.json' });
  it('names the JSON path of a wrong shape', () => {
    refuses(cfg([]), /^a\.json: the document is a list: expected \{"areas": \[\.\.\.\]\}/);
    refuses(cfg(null), /^a\.json: the document is not an object.*got null/);
    refuses(cfg({}), /^a\.json: areas is missing/);
    refuses(cfg({ areas: 5 }), /^a\.json: areas must be a list \(got number 5\)/);
    refuses(
      cfg({ areas: [{ name: 'a', sise: '16M' }] }),
      /^a\.json: areas\[0\]\.sise is not a known key of an area/,
    );
    refuses(
      cfg({ areas: [{ name: 'a', busy: [{ pfn: true }] }] }),
      /areas\[0\]\.busy\[0\]\.pfn must be a number or a string \(got boolean true\)/,
    );
    refuses(cfg({ profile: 7, areas: [] }), /^a\.json: profile must be a string \(got number 7\)/);
    refuses(cfg({ areas: [[]] }), /^a\.json: areas\[0\] is a list: expected an area/);
  });
  it('checks every number against what a kernel can have before allocating', () => {
    refuses(
      () => createSystem({ areas: ['name=r,count=1000000000000'] }),
      /count 1000000000000 pages is 1000000000000 bitmap bits at order_per_bit 0, more than one bitmap can hold \(at most 2\^31 = 2147483648 bits\)/,
    );
    refuses(
      () => createSystem({ areas: ['name=r,count=2000000000000'] }),
      /count 2000000000000 pages is more than a kernel can have \(at most 2\^40 = 1099511627776 pages\)/,
    );
    refuses(
      () => createSystem({ areas: ['name=r,count=4096,base_pfn=1099511627000'] }),
      /base_pfn 1099511627000 \+ count 4096 ends past the largest pfn a kernel can have \(2\^40 = 1099511627776\)/,
    );
    refuses(
      () => createSystem({ areas: ['name=r,count=99999999999999999999'] }),
      /'99999999999999999999' is too large \(at most 9007199254740991\)/,
    );
    refuses(
      () => createSystem({ areas: ['name=r,count=4096,order_per_bit=31'] }),
      /order_per_bit 31 is out of range \(0\.\.30\)/,
    );
    const many = Array.from(
      { length: 3 },
      (_, i) => `name=a${i},count=${2 ** 31},base_pfn=${(i + 1) * 2 ** 32}`,
    );
    refuses(
      () => createSystem({ areas: many }),
      /6442450944 bitmap bits in all, more than the emulator holds \(at most 2\^32/,
    );
  });
});

describe('state files', () => {
  const good = () => JSON.parse(stateToJson(systemToState(createSystem()))) as Record<string, unknown>;
  it('round-trips and names the JSON path of a bad field', () => {
    assert.equal(parseState(JSON.stringify(good())).areas[0]?.name, 'reserved');
    // biome-ignore lint/suspicious/noExplicitAny: the test edits fields of a parsed document
    const bad = (edit: (d: any) => void) => {
      const d = good();
      edit(d);
      return () => parseState(JSON.stringify(d), 'state s.json');
    };
    refuses(
      bad((d) => {
        d.areas[0].ranges[0].count = -1;
      }),
      /^state s\.json: areas\[0\]\.ranges\[0\]\.count must not be negative \(got -1\)/,
    );
    refuses(
      bad((d) => {
        d.areas[0].sysfs.allocPagesFail = 'x';
      }),
      /areas\[0\]\.sysfs\.allocPagesFail must be a decimal u64 \(got "x"\)/,
    );
    refuses(
      bad((d) => {
        d.tracing.enabled = ['cma_nope'];
      }),
      /tracing\.enabled\[0\] 'cma_nope' is neither a CMA trace event/,
    );
    refuses(
      bad((d) => {
        d.areas[0].availableCount = 5000;
      }),
      /areas\[0\]\.availableCount 5000 is more than the area's 4096 pages/,
    );
    refuses(
      bad((d) => {
        d.areas[0].ranges[0].basePfn = 0;
        d.areas[0].ranges[0].count = 2 ** 33;
      }),
      /count 8589934592 pages is 8589934592 bitmap bits at order_per_bit 0, more than one bitmap can hold/,
    );
    refuses(
      bad((d) => {
        d.kernelLog = {};
      }),
      /^state s\.json: kernelLog must be a list \(got an object\)/,
    );
    refuses(() => parseState('[1]', 'state s.json'), /not a cma-debug state \(not a JSON object\)/);
  });
});

describe('snapshot files', () => {
  const snap = async () => snapshotFromTree(await emulatorSource(createSystem()).capture());
  it('the published JSON Schema is the one generated from the loader schema', () => {
    const published = fs.readFileSync(path.join(ROOT, 'schema/snapshot.schema.json'), 'utf8');
    assert.equal(published, snapshotJsonSchemaText(), 'run npm run schema');
    const js = JSON.parse(published);
    assert.deepEqual(js.required, ['format', 'version', 'files']);
    assert.ok(js.properties.device, 'the device section is described');
  });
  it('keeps an optional device section through a round trip', async () => {
    const s = {
      ...(await snap()),
      device: { files: { 'proc/meminfo': 'CmaTotal: 16384 kB\n' }, unreadable: {} },
    };
    const back = parseSnapshot(formatSnapshot(s), 's.json');
    assert.deepEqual(back.device, s.device);
    refuses(
      () => parseSnapshot(JSON.stringify({ ...s, device: { files: { x: 1 } } }), 's.json'),
      /^s\.json: "device" must be \{.*\} \(device\.files\.x must be the file text as a string \(got number 1\)\)/,
    );
  });
  it('names the JSON path of a bad field, and what a non-snapshot is', async () => {
    const s = await snap();
    refuses(
      () => parseSnapshot('[]', 's.json'),
      /not a cma-debug snapshot \(expected an object .* got a list\)/,
    );
    refuses(() => parseSnapshot('null', 's.json'), /not a cma-debug snapshot .*got null/);
    refuses(() => parseSnapshot('42', 's.json'), /not a cma-debug snapshot .*got number 42/);
    refuses(
      () => parseSnapshot(JSON.stringify({ ...s, dirs: [1] }), 's.json'),
      /^s\.json: dirs\[0\] must be a path string/,
    );
    refuses(
      () =>
        parseSnapshot(
          JSON.stringify({ ...s, files: { ...s.files, 'kernel/debug/cma/reserved/count': 4096 } }),
          's.json',
        ),
      /^s\.json: files\["kernel\/debug\/cma\/reserved\/count"\] must be the file text as a string \(got number 4096\)/,
    );
    refuses(
      () => parseSnapshot(JSON.stringify({ ...s, extra: 1 }), 's.json'),
      /^s\.json: extra is not a known key/,
    );
  });
  it('names files that contradict each other, and numbers no kernel has', async () => {
    const s = await snap();
    const edit = (file: string, text: string) => () =>
      readAreas(
        treeFromSnapshot(
          { ...s, files: { ...s.files, [`kernel/debug/cma/reserved/${file}`]: text } },
          's.json',
        ),
      );
    refuses(
      edit('used', '99999\n'),
      /reserved\/used: 99999 pages used but count is 4096: the files contradict each other/,
    );
    refuses(
      edit('count', `${2 ** 40}\n`),
      /reserved: base_pfn \d+ \+ count 1099511627776 ends past the largest pfn/,
    );
    refuses(
      edit('count', '8192\n'),
      /bitmap of the wrong length: 128 words, expected 256 .*shorter than count needs: the files contradict each other/,
    );
    refuses(edit('order_per_bit', '31\n'), /order_per_bit: 31 is out of range/);
  });
  it('tells an empty file and JSON that is not an object from a kernel log', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, '.tmp-schema-'));
    try {
      const f = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      };
      refuses(() => fileKind(f('e.json', '')), /empty file \(expected a snapshot or a kernel log\)/);
      for (const t of ['[]', 'null', '42\n', '"x"']) assert.equal(fileKind(f('j.json', t)), 'snapshot', t);
      assert.equal(fileKind(f('l.txt', '[    0.000000] Linux version 6.1\n')), 'log');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTP route inputs', () => {
  it('answers 400 naming the parameter, the value and its limit', async () => {
    const s = await createServer(createSystem());
    try {
      const get = async (url: string) => {
        const r = await s.app.inject({ url });
        return { code: r.statusCode, message: (r.json() as { message?: string }).message };
      };
      assert.deepEqual(await get('/api/explain?area=reserved'), {
        code: 400,
        message: "query parameter 'pages' is missing",
      });
      assert.deepEqual(await get('/api/explain?area=reserved&pages=x'), {
        code: 400,
        message: "query parameter 'pages' must be a non-negative decimal integer, not 'x'",
      });
      assert.deepEqual(await get('/api/analysis?top=5000'), {
        code: 400,
        message: "query parameter 'top' is too large (at most 1000, got 5000)",
      });
      assert.deepEqual(await get('/api/trace?limit=1&limit=2'), {
        code: 400,
        message: "query parameter 'limit' must be given once",
      });
      assert.deepEqual(await get('/api/areas/reserved/ranges/x/buckets'), {
        code: 400,
        message: "path parameter 'range' must be a non-negative decimal integer, not 'x'",
      });
      assert.deepEqual(await get('/api/areas/reserved/ranges/0/buckets?to=5000'), {
        code: 400,
        message: "query parameter 'to' is too large (at most 4096, got 5000)",
      });
      assert.equal(
        (await s.app.inject({ url: '/api/explain?area=reserved&pages=8&align=' })).statusCode,
        200,
      );
    } finally {
      await s.app.close();
    }
  });
});
