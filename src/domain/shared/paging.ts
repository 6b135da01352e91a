export interface PageRequest {
  page: number;
  size: number;
}

export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  total: number;
}

export const offsetOf = ({ page, size }: PageRequest) => (page - 1) * size;
