import type { ColumnType } from 'kysely'
import type { SignedDeviceList } from '@metadome/contracts'

export interface DeviceListTable {
  user_id: string
  version: number
  /** The signed list exactly as accepted, served back as it came. */
  signed: ColumnType<SignedDeviceList, string, string>
  updated_at: ColumnType<Date, Date | undefined, Date>
}
