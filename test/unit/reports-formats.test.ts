import { describe, expect, it } from 'vitest';
import { csvRecord, toJson, usdFromNusd, usdLabel } from '../../src/reports/format';
import { FOCUS_COLUMNS, FOCUS_SLUICE_COLUMNS, focusDateTime } from '../../src/reports/focus';
import { parseCsv } from '../helpers/csv';

describe('csvRecord (RFC 4180)', () => {
  it('quotes fields with commas, quotes, CR or LF, doubles quotes, and ends records with CRLF', () => {
    const line = csvRecord(['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', null, 42, -7n, '']);
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines","cr\rhere",,42,-7,\r\n');
    expect(parseCsv(line)).toEqual([['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', '', '42', '-7', '']]);
  });

  it('neutralizes text a spreadsheet would run as a formula, but never numbers', () => {
    expect(csvRecord(['=HYPERLINK("x")', '+1', '@sum', '-rf', -5, '-0.000000123', 'ok'])).toBe(`"'=HYPERLINK(""x"")",'+1,'@sum,'-rf,-5,-0.000000123,ok\r\n`);
  });
});

describe('money formatting', () => {
  it('writes nano-USD as exact decimal USD at any size', () => {
    expect(usdFromNusd(0n)).toBe('0.000000000');
    expect(usdFromNusd(1n)).toBe('0.000000001');
    expect(usdFromNusd(-1_500_000_000n)).toBe('-1.500000000');
    expect(usdFromNusd(123_456_789_012_345_678_901n)).toBe('123456789012.345678901');
  });

  it('labels amounts for people', () => {
    expect(usdLabel(0n)).toBe('$0.00');
    expect(usdLabel(123_456n)).toBe('$0.000123');
    expect(usdLabel(1_234_567_890_123n)).toBe('$1,234.57');
    expect(usdLabel(-55_000_000n)).toBe('-$0.06');
  });

  it('writes JSON with bigints as exact numbers', () => {
    const big = 2n ** 63n - 1n;
    const text = toJson({ a: big, b: [1, 'x', null], c: undefined, d: { e: true } });
    expect(text).toBe('{"a":9223372036854775807,"b":[1,"x",null],"d":{"e":true}}');
    expect(JSON.parse(toJson({ a: 5n, b: ['q"'] }, true))).toEqual({ a: 5, b: ['q"'] });
  });
});

describe('FOCUS 1.2 columns', () => {
  // The FOCUS 1.2 specification's columns (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec,
  // specification/columns), with each column's data type and whether it allows nulls.
  const SPEC: [string, string, boolean][] = [
    ['AvailabilityZone', 'String', true],
    ['BilledCost', 'Decimal', false],
    ['BillingAccountId', 'String', false],
    ['BillingAccountName', 'String', false],
    ['BillingAccountType', 'String', true],
    ['BillingCurrency', 'String', false],
    ['BillingPeriodEnd', 'Date/Time', false],
    ['BillingPeriodStart', 'Date/Time', false],
    ['CapacityReservationId', 'String', true],
    ['CapacityReservationStatus', 'String', true],
    ['ChargeCategory', 'String', false],
    ['ChargeClass', 'String', true],
    ['ChargeDescription', 'String', true],
    ['ChargeFrequency', 'String', false],
    ['ChargePeriodEnd', 'Date/Time', false],
    ['ChargePeriodStart', 'Date/Time', false],
    ['CommitmentDiscountCategory', 'String', true],
    ['CommitmentDiscountId', 'String', true],
    ['CommitmentDiscountName', 'String', true],
    ['CommitmentDiscountQuantity', 'Decimal', true],
    ['CommitmentDiscountStatus', 'String', true],
    ['CommitmentDiscountType', 'String', true],
    ['CommitmentDiscountUnit', 'String', true],
    ['ConsumedQuantity', 'Decimal', true],
    ['ConsumedUnit', 'String', true],
    ['ContractedCost', 'Decimal', false],
    ['ContractedUnitPrice', 'Decimal', true],
    ['EffectiveCost', 'Decimal', false],
    ['InvoiceId', 'String', true],
    ['InvoiceIssuerName', 'String', false],
    ['ListCost', 'Decimal', false],
    ['ListUnitPrice', 'Decimal', true],
    ['PricingCategory', 'String', true],
    ['PricingCurrency', 'String', true],
    ['PricingCurrencyContractedUnitPrice', 'Decimal', true],
    ['PricingCurrencyEffectiveCost', 'Decimal', true],
    ['PricingCurrencyListUnitPrice', 'Decimal', true],
    ['PricingQuantity', 'Decimal', true],
    ['PricingUnit', 'String', true],
    ['ProviderName', 'String', false],
    ['PublisherName', 'String', false],
    ['RegionId', 'String', true],
    ['RegionName', 'String', true],
    ['ResourceId', 'String', true],
    ['ResourceName', 'String', true],
    ['ResourceType', 'String', true],
    ['ServiceCategory', 'String', false],
    ['ServiceName', 'String', false],
    ['ServiceSubcategory', 'String', true],
    ['SkuId', 'String', true],
    ['SkuMeter', 'String', true],
    ['SkuPriceDetails', 'JSON', true],
    ['SkuPriceId', 'String', true],
    ['SubAccountId', 'String', true],
    ['SubAccountName', 'String', true],
    ['SubAccountType', 'String', true],
    ['Tags', 'JSON', true],
  ];

  it('lists every specification column with its type and nullability, in order', () => {
    expect(FOCUS_COLUMNS.map((c) => [c.name, c.type, c.nullable])).toEqual(SPEC);
  });

  it('names Sluice columns with the x_ prefix in PascalCase, none clashing with the specification', () => {
    for (const c of FOCUS_SLUICE_COLUMNS) {
      expect(c.name).toMatch(/^x_[A-Z][A-Za-z]+$/);
      expect(c.name.length).toBeLessThanOrEqual(50);
    }
    expect(new Set([...FOCUS_COLUMNS, ...FOCUS_SLUICE_COLUMNS].map((c) => c.name)).size).toBe(FOCUS_COLUMNS.length + FOCUS_SLUICE_COLUMNS.length);
  });

  it('writes date/times as YYYY-MM-DDTHH:mm:ssZ', () => {
    expect(focusDateTime(Date.UTC(2026, 10, 1))).toBe('2026-11-01T00:00:00Z');
  });
});
