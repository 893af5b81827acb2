import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';
import { findJob } from '../../src/jobs';

describe('reports configuration', () => {
  it('has defaults, and takes the export folder from the environment over the file', () => {
    expect(parseConfig({}).reports).toEqual({
      exportDir: './data/exports',
      exportGroupBy: ['team', 'project', 'key', 'model'],
      billingAccountId: 'sluice',
      billingAccountName: 'Sluice gateway',
    });
    const config = parseConfig({ SLUICE_EXPORT_DIR: '/var/exports' }, { reports: { export_dir: '/elsewhere', export_group_by: 'team,tag:cost_center', billing_account_id: 'acme-ai' } });
    expect(config.reports).toMatchObject({ exportDir: '/var/exports', exportGroupBy: ['team', 'tag:cost_center'], billingAccountId: 'acme-ai' });
  });

  it('refuses a grouping that is not one', () => {
    expect(() => parseConfig({}, { reports: { export_group_by: 'team,colour' } })).toThrow(ConfigError);
    expect(() => parseConfig({}, { reports: { export_group_by: 'team,colour' } })).toThrow(/reports.export_group_by: .*"colour" is not a dimension/);
  });
});

describe('reports jobs', () => {
  it('are in the job table: hourly rollup repair, the monthly export on the 1st', () => {
    expect(findJob('rollup')?.schedule).toBe('7 * * * *');
    expect(findJob('export')?.schedule).toBe('30 1 1 * *');
  });
});
