// Reads files out of a zip archive held in memory (store and deflate, no zip64): the fallback of
// ensure-k8s-proto.mjs on machines without the `unzip` command. Sizes and offsets come from the
// central directory, which is right even when the local headers defer them to data descriptors.
import { inflateRawSync } from 'node:zlib';

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

function endOfCentralDirectory(zip) {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  throw new Error('not a zip archive: no end-of-central-directory record');
}

/** The names of the archive's entries, in central-directory order. */
export function listZipEntries(zip) {
  return centralDirectory(zip).map((e) => e.name);
}

function centralDirectory(zip) {
  const eocd = endOfCentralDirectory(zip);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw new Error('zip64 archives are not supported');
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL_FILE_HEADER) throw new Error(`corrupt zip: no central directory header at ${at}`);
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeader: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

/** The contents of the entries whose names `wanted` accepts, by name. */
export function readZipEntries(zip, wanted) {
  const out = new Map();
  for (const entry of centralDirectory(zip)) {
    if (!wanted(entry.name)) continue;
    const at = entry.localHeader;
    if (zip.readUInt32LE(at) !== LOCAL_FILE_HEADER) throw new Error(`corrupt zip: no local header for ${entry.name}`);
    const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
    const stored = zip.subarray(start, start + entry.compressedSize);
    let data;
    if (entry.method === 0) data = Buffer.from(stored);
    else if (entry.method === 8) data = inflateRawSync(stored);
    else throw new Error(`${entry.name}: zip compression method ${entry.method} is not supported (only store and deflate)`);
    if (data.length !== entry.size) throw new Error(`corrupt zip: ${entry.name} inflated to ${data.length} bytes, not ${entry.size}`);
    out.set(entry.name, data);
  }
  return out;
}
