// The areas of the 7.3 oracle runs as --area strings (oracle-7.3 README "Areas you can get";
// golden-7.3/ranges.txt), in creation order.

/** Areas of the oracle runs (oracle-7.3 README, "Areas you can get"; ranges.txt). */
export const AREAS = {
  /** 512M, cma=16M */
  small: ['name=reserved,base_pfn=125952,count=4096'],
  /** 6G, hugetlb_cma=1G */
  hugetlb: [
    'name=reserved,base_pfn=0x100000,count=4096',
    'name=hugetlb0,order_per_bit=9,base_pfn=0x140000,count=262144',
  ],
  /** 8G, hugetlb_cma=2G memmap=64M$0x180000000 */
  '2x1G': [
    'name=reserved,base_pfn=0x100000,count=4096',
    'name=hugetlb0,order_per_bit=9,range=0x140000:262144,range=0x1c0000:262144',
  ],
  /** 9G, hugetlb_cma=3G memmap=64M$0x1a0000000 */
  '1G+2G': [
    'name=reserved,base_pfn=0x100000,count=4096',
    'name=hugetlb0,order_per_bit=9,range=0x140000:262144,range=0x1c0000:524288',
  ],
  /** 10G, hugetlb_cma=3G memmap=64M$0x180000000 memmap=64M$0x200000000: not in address order */
  '3x1G': [
    'name=reserved,base_pfn=0x100000,count=4096',
    'name=hugetlb0,order_per_bit=9,range=0x240000:262144,range=0x140000:262144,range=0x1c0000:262144',
  ],
} as const;
