// The areas of the 6.12 oracle runs as --area strings (golden-6.12 README), in creation order.

/** The areas of the 6.12 oracle runs as --area strings, in creation order. */
export const AREAS_6_12 = {
  /** 512M, cma=16M */
  small: ['name=reserved,base_pfn=125952,count=4096'],
  /** 6G, hugetlb_cma=1G: the 1 GiB area on the first 1 GiB boundary above the 16 MiB one */
  hugetlb: [
    'name=reserved,base_pfn=0x100000,count=4096',
    'name=hugetlb0,order_per_bit=9,base_pfn=0x140000,count=262144',
  ],
} as const;
