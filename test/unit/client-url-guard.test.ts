import { describe, expect, it } from 'vitest';
import { assertPublicUrl, isPrivateAddress } from '../../src/shared/client-urls/guard.ts';

describe('SSRF guard', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '0:0:0:0:0:ffff:10.0.0.1',
    '64:ff9b::a00:1',
  ])('refuses %s', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows public %s',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it.each([
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]:8080/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://localhost:3000/hook', // a host name that resolves to a private address
    'http://0x7f000001/hook', // 127.0.0.1 spelled in hex, normalised by the URL parser
  ])('refuses %s unless private networks are allowed', async (url) => {
    await expect(assertPublicUrl(url, false)).rejects.toThrow(/private|reserved/);
    await expect(assertPublicUrl(url, true)).resolves.toBeInstanceOf(URL);
  });

  it('refuses other schemes and credentials whatever the setting', async () => {
    await expect(assertPublicUrl('ftp://93.184.216.34/x', true)).rejects.toThrow(/http/);
    await expect(assertPublicUrl('file:///etc/passwd', true)).rejects.toThrow(/http/);
    await expect(assertPublicUrl('http://user:pw@93.184.216.34/', true)).rejects.toThrow(/credentials/);
  });

  it('accepts a public literal address', async () => {
    await expect(assertPublicUrl('https://93.184.216.34/hook', false)).resolves.toBeInstanceOf(URL);
  });
});
