'use server';
import { revalidatePath } from 'next/cache';
import { bus } from '@/lib/session';
import { purgeExpired } from '@/lib/listSessions';

export interface PurgeState {
  purged: number | null;
}

export async function purgeExpiredSessions(): Promise<PurgeState> {
  const { purged, ids } = await purgeExpired();
  // Tabs still showing a purged session hear it at once: their watch stream ends, and they
  // move to a fresh session instead of waiting for their next write.
  for (const id of ids) bus.publish({ id, version: 0, deleted: true });
  revalidatePath('/admin');
  return { purged };
}
