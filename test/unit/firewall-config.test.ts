// The firewall plugin's config defaults and the D-Bus address syntax it reads the system bus from.
import { describe, expect, it } from 'vitest';
import { firewallConfigSchema } from '../../plugins/firewall/config.js';
import { busSocket } from '../../plugins/firewall/dbus.js';

describe('firewall config', () => {
  it("takes the reference's defaults, also for empty strings", () => {
    for (const extra of [{}, { backend: '', iptablesAdminChainName: '', firewalldZone: '', ingressPolicy: '' }]) {
      expect(firewallConfigSchema.parse({ name: 'n', ...extra })).toMatchObject({
        backend: '',
        iptablesAdminChainName: 'CNI-ADMIN',
        firewalldZone: 'trusted',
        ingressPolicy: '',
      });
    }
  });

  it('refuses unknown values and our own chain names, naming the field', () => {
    for (const [field, value] of [
      ['backend', 'nftables'],
      ['ingressPolicy', 'strict'],
      ['iptablesAdminChainName', 'isolation'],
      ['iptablesAdminChainName', 'x'.repeat(256)],
    ] as const) {
      const r = firewallConfigSchema.safeParse({ name: 'n', [field]: value });
      expect(r.success, `${field}=${value}`).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual([field]);
    }
  });
});

describe('D-Bus addresses', () => {
  it('finds the first unix socket, unescaping it', () => {
    expect(busSocket('unix:path=/var/run/dbus/system_bus_socket')).toEqual({ path: '/var/run/dbus/system_bus_socket', abstract: false });
    expect(busSocket('tcp:host=h,port=1;unix:abstract=/tmp/dbus-x,guid=00')).toEqual({ path: '/tmp/dbus-x', abstract: true });
    expect(busSocket('unix:path=/tmp/a%20b')).toEqual({ path: '/tmp/a b', abstract: false });
    expect(busSocket('tcp:host=h,port=1')).toBeUndefined();
  });
});
