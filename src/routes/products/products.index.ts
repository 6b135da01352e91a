import { createRouter } from "../lib/create-router";
import {
  createProductHandler,
  discontinueProductHandler,
  editProductHandler,
  getProductHandler,
  listProductsHandler,
} from "./products.handlers";
import { createProduct, discontinueProduct, editProduct, getProduct, listProducts } from "./products.routes";

export const productsRouter = createRouter()
  .openapi(listProducts, listProductsHandler)
  .openapi(getProduct, getProductHandler)
  .openapi(createProduct, createProductHandler)
  .openapi(editProduct, editProductHandler)
  .openapi(discontinueProduct, discontinueProductHandler);
