// The platform services a FrameWorks manifest deploys, by deploy name (`foghorn-eu` and `foghorn-us` are both
// `foghorn`): what `upgrade <service>` accepts and what the catalog must define.
import type { FrameworksManifest } from '../../contracts/frameworks/manifest';
import { placedServices } from './placement';

export function deployedServices(m: FrameworksManifest): string[] {
  return [...new Set(placedServices(m).map((p) => p.deploy))].sort();
}
