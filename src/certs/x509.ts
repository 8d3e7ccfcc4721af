// The one place @peculiar/x509 is loaded. It resolves its algorithm registry through tsyringe, which needs the
// Reflect metadata polyfill installed before the library's module body runs; ESM evaluates these imports in order.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Node's own WebCrypto does the key and signature work; the library only builds and encodes the ASN.1.
x509.cryptoProvider.set(webcrypto);

export { x509, webcrypto };
