import { describe, expect, it } from 'vitest';
import { HttpError } from '../lib/http.js';
import { splitNodeNames } from './names-body.js';
import { readExtenderArgs } from './read-args.js';
import { parseExtenderArgs } from './wire.js';

const pod = '{"metadata":{"name":"p","namespace":"ns","annotations":{"a":"NodeNames"}}}';

/** What the body meant before names were taken out by hand: JSON.parse of all of it. */
function whole(text: string): unknown {
  try {
    return parseExtenderArgs(JSON.parse(text));
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function read(text: string): unknown {
  try {
    return readExtenderArgs(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return { error: (error as Error).message.replace(/^Decode error: /, '') };
  }
}

describe('readExtenderArgs', () => {
  it.each([
    `{"Pod":${pod},"NodeNames":["n1","n2"]}`,
    ` { "NodeNames" : [ "n1" ,\n"n2" ] , "Pod" : ${pod} } `,
    `{"pod":${pod},"nodenames":[]}`,
    `{"Pod":${pod},"Nodes":null,"NodeNames":["n1"]}`,
    `{"Pod":${pod},"Nodes":{"items":[{"metadata":{"name":"x"}}]},"NodeNames":["n1"]}`,
    `{"Pod":${pod},"NodeNames":["n1","n2"],"Extra":{"NodeNames":["z"]}}`,
    `{"Pod":${pod},"NodeNames":["é","名前"]}`,
  ])('takes the names of %s out without parsing them, with the meaning JSON.parse gives', (text) => {
    expect(splitNodeNames(text, 100)).toBeDefined();
    expect(read(text)).toEqual(whole(text));
  });

  it.each([
    // Two keys that both read as NodeNames: the whole body decides which wins.
    `{"Pod":${pod},"NodeNames":["a"],"nodenames":["b"]}`,
    `{"Pod":${pod},"NodeNames":["a"],"NodeNames":["b"]}`,
    `{"Pod":${pod},"NodeNames":["a"],"Node\\u004eames":null}`,
    // Escapes, control characters, other values, overlong names.
    `{"Pod":${pod},"NodeNames":["a\\u0062"]}`,
    `{"Pod":${pod},"NodeNames":["a\u0001"]}`,
    `{"Pod":${pod},"NodeNames":["a",1]}`,
    `{"Pod":${pod},"NodeNames":["a",]}`,
    `{"Pod":${pod},"NodeNames":"a"}`,
    `{"Pod":${pod},"NodeNames":null,"Nodes":{"items":[]}}`,
    `{"Pod":${pod},"NodeNames":["a","${'x'.repeat(254)}"]}`,
    // Malformed around the names, or nothing else right.
    `{"Pod":${pod},"NodeNames":["a"]`,
    `{"Pod":${pod},"NodeNames":["a"]}}`,
    `{"Pod":${pod},"NodeNames":["a"] "x":1}`,
    `["NodeNames":["a"]]`,
    `{"NodeNames":["a"]}`,
    `{"Pod":{},"NodeNames":["a"]}`,
    `{"Pod":${pod},"NodeNames":["a`,
    `not json`,
  ])('answers %s as parsing it whole does', (text) => {
    expect(read(text)).toEqual(whole(text));
  });

  it('refuses a body nested too deep before parsing it, names or not', () => {
    const deep = `{"Pod":${pod},"NodeNames":["a"],"x":${'['.repeat(101)}${']'.repeat(101)}}`;
    expect(splitNodeNames(deep, 100)).toBeUndefined();
    expect(read(deep)).toEqual({ error: 'JSON nested deeper than 100 levels' });
  });
});
