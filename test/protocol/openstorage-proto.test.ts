// Wire compatibility of proto/openstorage/api.proto with the upstream OpenStorage SDK definition.
// The upstream file comes from the Go module proxy (or the local module cache), as the project's other
// upstream inputs do, so this test needs Go and network access on a cold cache.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Root } from 'protobufjs';
import { compareProtos, goModuleDir, loadProto, protoPackage, readText } from './proto-compat.js';

const upstreamModule = 'github.com/libopenstorage/openstorage';
const upstreamVersion = 'v9.4.47+incompatible';
const pkg = 'openstorage.api';
const oursFile = fileURLToPath(new URL('../../proto/openstorage/api.proto', import.meta.url));

let upstreamFile = '';
let upstream: Root;
let scratch = '';

beforeAll(() => {
  upstreamFile = join(goModuleDir(upstreamModule, upstreamVersion), 'api', 'api.proto');
  upstream = loadProto(upstreamFile);
  scratch = mkdtempSync(join(tmpdir(), 'stork-ts-proto-'));
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Our file with one textual edit, loaded; the edit must apply, or the test would prove nothing. */
function mutated(from: string | RegExp, to: string): Root {
  const source = readText(oursFile);
  const changed = source.replace(from, to);
  expect(changed, `the edit ${String(from)} applies`).not.toBe(source);
  const file = join(scratch, `mutated-${Math.random().toString(36).slice(2)}.proto`);
  writeFileSync(file, changed);
  return loadProto(file);
}

describe('proto/openstorage/api.proto against upstream OpenStorage SDK', () => {
  it('declares the same package', () => {
    expect(protoPackage(readText(upstreamFile))).toBe(pkg);
    expect(protoPackage(readText(oursFile))).toBe(pkg);
  });

  it('keeps every service, method, message, field and enum value as upstream defines it', () => {
    const problems = compareProtos(loadProto(oursFile), upstream, pkg);
    expect(problems, `mismatches with upstream ${upstreamVersion}:\n${problems.join('\n')}`).toEqual([]);
  });

  it('checks the services, messages and enums the driver relies on', () => {
    // Guards against a comparison that passes because it looked at nothing.
    const ours = loadProto(oursFile);
    for (const name of [
      'OpenStorageIdentity.Version',
      'OpenStorageCluster.InspectCurrent',
      'OpenStorageNode.Inspect',
      'OpenStorageNode.EnumerateWithFilters',
      'OpenStorageVolume.Inspect',
      'OpenStorageVolume.InspectWithFilters',
    ]) {
      const [service = '', method = ''] = name.split('.');
      expect(ours.lookupService(`${pkg}.${service}`).methods[method], name).toBeDefined();
    }
    expect(ours.lookupType(`${pkg}.Volume`).fields['replica_sets']?.id).toBe(19);
    expect(ours.lookupEnum(`${pkg}.Status`).values['STATUS_STORAGE_DOWN']).toBe(8);
  });

  describe('reports a mismatch by name', () => {
    it('a field number', () => {
      const problems = compareProtos(
        mutated('string hostname = 15;', 'string hostname = 14;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'message .openstorage.api.StorageNode field hostname has number 14, upstream 15',
      ]);
    });

    it('a field type', () => {
      const problems = compareProtos(mutated('uint64 size = 2;', 'int64 size = 2;'), upstream, pkg);
      expect(problems).toEqual(['message .openstorage.api.VolumeSpec field size is int64, upstream uint64']);
    });

    it('a repeated rule', () => {
      const problems = compareProtos(
        mutated('repeated ReplicaSet replica_sets = 19;', 'ReplicaSet replica_sets = 19;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'message .openstorage.api.Volume field replica_sets is .openstorage.api.ReplicaSet, upstream repeated .openstorage.api.ReplicaSet',
      ]);
    });

    it('a map turned into a repeated field', () => {
      const problems = compareProtos(
        mutated('map<string, string> node_labels = 16;', 'repeated string node_labels = 16;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'message .openstorage.api.StorageNode field node_labels is repeated string, upstream map<string, string>',
      ]);
    });

    it('a field that does not exist', () => {
      const problems = compareProtos(
        mutated('string seed = 2;', 'string seed = 2;\n  string made_up = 3;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual(['message .openstorage.api.Source field made_up does not exist upstream']);
    });

    it('an enum value number, and a missing one', () => {
      const problems = compareProtos(
        mutated('STATUS_POOLMAINTENANCE = 14;\n  STATUS_MAX = 15;', 'STATUS_POOLMAINTENANCE = 15;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'enum .openstorage.api.Status: value STATUS_POOLMAINTENANCE is 15, upstream 14',
        'enum .openstorage.api.Status: lacks upstream value STATUS_MAX',
      ]);
    });

    it('a method with another request type, and a made-up method', () => {
      const problems = compareProtos(
        mutated(
          'rpc Inspect(SdkNodeInspectRequest) returns (SdkNodeInspectResponse) {}',
          'rpc Inspect(SdkNodeEnumerateRequest) returns (SdkNodeInspectResponse) {}\n  rpc Bogus(SdkNodeInspectRequest) returns (stream SdkNodeInspectResponse) {}',
        ),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'service .openstorage.api.OpenStorageNode method Inspect is (.openstorage.api.SdkNodeEnumerateRequest) returns (.openstorage.api.SdkNodeInspectResponse), upstream (.openstorage.api.SdkNodeInspectRequest) returns (.openstorage.api.SdkNodeInspectResponse)',
        'service .openstorage.api.OpenStorageNode method Bogus does not exist upstream',
      ]);
    });

    it('a streaming flag', () => {
      const problems = compareProtos(
        mutated(
          'rpc Enumerate(SdkNodeEnumerateRequest) returns (SdkNodeEnumerateResponse) {}',
          'rpc Enumerate(SdkNodeEnumerateRequest) returns (stream SdkNodeEnumerateResponse) {}',
        ),
        upstream,
        pkg,
      );
      expect(problems).toEqual([
        'service .openstorage.api.OpenStorageNode method Enumerate is (.openstorage.api.SdkNodeEnumerateRequest) returns (stream .openstorage.api.SdkNodeEnumerateResponse), upstream (.openstorage.api.SdkNodeEnumerateRequest) returns (.openstorage.api.SdkNodeEnumerateResponse)',
      ]);
    });

    it('a message that does not exist, and another package', () => {
      const problems = compareProtos(
        mutated('package openstorage.api;', 'package openstorage.other;'),
        upstream,
        pkg,
      );
      expect(problems).toEqual(['our file has no package openstorage.api']);
      const extra = compareProtos(mutated(/$/, '\nmessage MadeUp {\n  string x = 1;\n}\n'), upstream, pkg);
      expect(extra).toEqual(['message .openstorage.api.MadeUp does not exist upstream']);
    });
  });
});
