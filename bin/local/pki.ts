// Local PKI for the tests and `npm start`: a CA, a localhost server certificate, a client certificate, and a foreign CA with
// its own client certificate — generated in memory (once per test file), never written to disk.
// @peculiar/x509 2.x (via tsyringe) needs a Reflect metadata polyfill loaded before it is evaluated.
// ESM evaluates imports in order, so this line must stay above the x509 import.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

export interface KeyAndCert {
  /** PEM "-----BEGIN CERTIFICATE-----". */
  certPem: string;
  /** PKCS#8 PEM "-----BEGIN PRIVATE KEY-----". */
  keyPem: string;
}

export interface TestPki {
  /** The trusted test CA ("token-refresher test CA"). */
  caPem: string;
  /** Server certificate for localhost (SAN DNS:localhost, IP:127.0.0.1), signed by the CA. */
  server: KeyAndCert;
  /** Client certificate (clientAuth), signed by the CA. */
  client: KeyAndCert;
  /** Client certificate signed by `foreignCaPem`, which the server does not trust. */
  foreignClient: KeyAndCert;
  /** A second, untrusted CA ("token-refresher foreign test CA"). */
  foreignCaPem: string;
}

// tsconfig has no DOM lib, so the WebCrypto types come from node:crypto's `webcrypto` namespace.
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
const EC_KEY: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
}

function validity(): { notBefore: Date; notAfter: Date } {
  // Back-dated a little so a clock that is a few seconds behind does not reject a fresh certificate.
  const now = Date.now();
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + 24 * 60 * 60 * 1000) };
}

async function createCa(commonName: string): Promise<Issued> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${commonName}`,
      keys,
      signingAlgorithm: SIGNING,
      ...validity(),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert, keys };
}

async function issueLeaf(
  ca: Issued,
  commonName: string,
  usage: x509.ExtendedKeyUsage,
  sans?: x509.JsonGeneralNames,
): Promise<Issued> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, crypto),
  ];
  if (sans) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${commonName}`,
      issuer: ca.cert.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: SIGNING,
      ...validity(),
      extensions,
    },
    crypto,
  );
  return { cert, keys };
}

async function toKeyAndCert(issued: Issued): Promise<KeyAndCert> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", issued.keys.privateKey);
  return {
    certPem: issued.cert.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}

/** Generates a fresh in-memory PKI (ECDSA P-256). Call once per test file. */
export async function createTestPki(): Promise<TestPki> {
  const [ca, foreignCa] = await Promise.all([
    createCa("token-refresher test CA"),
    createCa("token-refresher foreign test CA"),
  ]);
  const [server, client, foreignClient] = await Promise.all([
    issueLeaf(ca, "localhost", x509.ExtendedKeyUsage.serverAuth, [
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
    ]),
    issueLeaf(ca, "token-refresher test client", x509.ExtendedKeyUsage.clientAuth),
    issueLeaf(foreignCa, "token-refresher foreign test client", x509.ExtendedKeyUsage.clientAuth),
  ]);
  return {
    caPem: ca.cert.toString("pem"),
    server: await toKeyAndCert(server),
    client: await toKeyAndCert(client),
    foreignClient: await toKeyAndCert(foreignClient),
    foreignCaPem: foreignCa.cert.toString("pem"),
  };
}
