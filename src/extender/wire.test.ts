import { describe, expect, it } from 'vitest';
import { parseExtenderArgs, WireError } from './wire.js';

const pod = { metadata: { name: 'p', namespace: 'ns' } };

describe('parseExtenderArgs', () => {
  it('reads Go-capitalised and lower-case keys alike', () => {
    expect(parseExtenderArgs({ Pod: pod, NodeNames: ['a', 'b'] }).nodeNames).toEqual(['a', 'b']);
    expect(parseExtenderArgs({ pod, nodenames: ['a'] }).nodeNames).toEqual(['a']);
    const withNodes = parseExtenderArgs({ POD: pod, Nodes: { items: [{ metadata: { name: 'n1' } }] } });
    expect(withNodes.nodes?.map((n) => n.metadata?.name)).toEqual(['n1']);
  });

  it('prefers NodeNames when both are sent, and takes a null Nodes list as empty', () => {
    expect(parseExtenderArgs({ Pod: pod, Nodes: null, NodeNames: ['x'] }).nodeNames).toEqual(['x']);
    expect(parseExtenderArgs({ Pod: pod, Nodes: { items: null } }).nodes).toEqual([]);
  });

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{}, /Pod is missing/],
    [{ Pod: { metadata: {} } }, /Pod.metadata.name/],
    [{ Pod: pod }, /neither Nodes nor NodeNames/],
    [{ Pod: pod, NodeNames: 'a' }, /NodeNames must be a list of strings/],
    [{ Pod: pod, NodeNames: [1] }, /NodeNames must be a list of strings/],
    [{ Pod: pod, Nodes: [] }, /Nodes must be a NodeList/],
    [{ Pod: pod, Nodes: { items: {} } }, /Nodes.items must be a list/],
    [{ Pod: pod, Nodes: { items: [{ metadata: {} }] } }, /Nodes.items\[0\] has no metadata.name/],
    [{ Pod: pod, NodeNames: ['n1', 'x'.repeat(254)] }, /NodeNames\[1\] is longer than a node name/],
    [
      { Pod: pod, Nodes: { items: [{ metadata: { name: 'x'.repeat(254) } }] } },
      /Nodes.items\[0\].metadata.name is longer than a node name/,
    ],
  ])('rejects %j', (body, message) => {
    expect(() => parseExtenderArgs(body)).toThrow(WireError);
    expect(() => parseExtenderArgs(body)).toThrow(message);
  });
});
