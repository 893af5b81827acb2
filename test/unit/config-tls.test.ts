import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';

describe('TLS configuration', () => {
  it('is off by default, on with a certificate and its key from the environment or the file', () => {
    expect(parseConfig({}).tls).toBeUndefined();
    expect(parseConfig({ SLUICE_TLS_CERT: '/etc/sluice/cert.pem', SLUICE_TLS_KEY: '/etc/sluice/key.pem' }).tls).toEqual({ certPath: '/etc/sluice/cert.pem', keyPath: '/etc/sluice/key.pem' });
    expect(parseConfig({}, { server: { tls_cert: 'c.pem', tls_key: 'k.pem' } }).tls).toEqual({ certPath: 'c.pem', keyPath: 'k.pem' });
  });

  it('refuses a certificate without its key, naming both settings', () => {
    expect(() => parseConfig({ SLUICE_TLS_CERT: 'c.pem' })).toThrow(ConfigError);
    expect(() => parseConfig({}, { server: { tls_key: 'k.pem' } })).toThrow(/SLUICE_TLS_CERT and SLUICE_TLS_KEY/);
  });
});
