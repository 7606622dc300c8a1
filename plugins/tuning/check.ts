// CHECK for the tuning plugin: every configured sysctl and link attribute must still hold, with the
// reference's messages (https://github.com/containernetworking/plugins/blob/main/plugins/meta/tuning/tuning.go, cmdCheck).
import { CniError, ErrorCode } from '../../src/spec/errors.js';
import type { PluginContext } from '../../src/skel/types.js';
import { tuningInspect } from '../../src/native.js';
import { nativeSysctls, type Tuning } from './config.js';

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

/** Compare the pod's interface and sysctls with what the config asks. */
export async function checkTuning(t: Tuning, ctx: PluginContext): Promise<void> {
  const name = ctx.ifname;
  const state = await tuningInspect({
    netns: ctx.paths.local(ctx.netns),
    ifname: name,
    sysctls: nativeSysctls(t.sysctls).map((s) => s.key),
  });
  t.sysctls.forEach((s, i) => {
    const current = (state.sysctls[i]?.value ?? '').replace(/\n$/, '');
    if (current !== s.value) fail(`Error: Tuning configured value of /proc/sys/${s.path} is ${s.value}, current value is ${current}`);
  });
  const link = state.link;
  if (!link) fail(`Cannot find container link ${name}`);
  const want = t.link;
  if (want.mac && want.mac !== link.mac)
    fail(`Error: Tuning configured Ethernet of ${name} is ${t.macAsGiven}, current value is ${link.mac}`);
  // promisc is checked both ways: a config without it expects the interface not promiscuous
  const promisc = want.promisc === true;
  if (promisc !== link.promisc)
    fail(`Error: Tuning link ${name} configured promisc is ${promisc}, current value is ${link.promisc ? 1 : 0}`);
  if (want.mtu !== undefined && want.mtu !== link.mtu)
    fail(`Error: Tuning configured MTU of ${name} is ${want.mtu}, current value is ${link.mtu}`);
  if (want.allmulti !== undefined && want.allmulti !== link.allmulti) {
    fail(`Error: Tuning configured all-multicast mode of ${name} is ${want.allmulti}, current value is ${link.allmulti}`);
  }
  if (want.txQLen !== undefined && want.txQLen !== link.txQLen) {
    fail(`Error: Tuning configured Transmit Queue Length of ${name} is ${want.txQLen}, current value is ${link.txQLen}`);
  }
}
