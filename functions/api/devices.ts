// /accounts/{accountId}/devices: the account's SIP devices. Passwords go in, HA1 values are kept.
import { createRoute } from "@hono/zod-openapi";
import { type Api, deviceView, json, jsonBody, problems, registrarFor, security } from "./common";
import { unwrap } from "./problem";
import { AccountParams, Deleted, Device, DeviceCreate, DeviceLockout, DeviceParams, DeviceUpdate, Pagination, pageOf } from "./schemas";

const tags = ["Devices"];

export function registerDeviceRoutes(api: Api) {
  api.openapi(
    createRoute({
      method: "post",
      path: "/accounts/{accountId}/devices",
      tags,
      security,
      summary: "Create a device",
      request: { params: AccountParams, body: jsonBody(DeviceCreate) },
      responses: { 201: json(Device, "The new device (no credentials are ever returned)."), ...problems(400, 401, 403, 404, 409, 413, 415) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const outcome = await stub.createDevice(c.req.valid("json"));
      return c.json(deviceView(unwrap(outcome)), 201);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/devices",
      tags,
      security,
      summary: "List devices",
      request: { params: AccountParams, query: Pagination },
      responses: { 200: json(pageOf(Device, "DevicePage"), "A page of devices."), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const stub = await registrarFor(c, c.req.valid("param").accountId);
      const { limit, after } = c.req.valid("query");
      const result = await stub.listDevices(limit, after ?? null);
      return c.json({ items: result.items.map(deviceView), next: result.next }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/devices/{deviceId}",
      tags,
      security,
      summary: "Read a device",
      request: { params: DeviceParams },
      responses: { 200: json(Device, "The device."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, deviceId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const outcome = await stub.getDevice(deviceId);
      return c.json(deviceView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "patch",
      path: "/accounts/{accountId}/devices/{deviceId}",
      tags,
      security,
      summary: "Change a device: password, caller ID, enabled; a new username needs a new password",
      request: { params: DeviceParams, body: jsonBody(DeviceUpdate) },
      responses: { 200: json(Device, "The changed device."), ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
    }),
    async (c) => {
      const { accountId, deviceId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const outcome = await stub.updateDevice(deviceId, c.req.valid("json"));
      return c.json(deviceView(unwrap(outcome)), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/devices/{deviceId}",
      tags,
      security,
      summary: "Delete a device and its registrations; its numbers then route to the account",
      request: { params: DeviceParams },
      responses: { 200: json(Deleted, "The device is gone."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, deviceId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const outcome = await stub.deleteDevice(deviceId);
      return c.json(unwrap(outcome), 200);
    },
  );

  api.openapi(
    createRoute({
      method: "get",
      path: "/accounts/{accountId}/devices/{deviceId}/lockout",
      tags,
      security,
      summary: "Who is refused for this device now: the whole-device lock and each locked source address",
      request: { params: DeviceParams },
      responses: { 200: json(DeviceLockout, "The device's lock and its source locks in force."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, deviceId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      const lockout = unwrap(await stub.lockoutOf(deviceId));
      const iso = (ms: number) => new Date(ms).toISOString();
      return c.json(
        {
          deviceId: lockout.deviceId,
          lockedUntil: lockout.lockedUntil === null ? null : iso(lockout.lockedUntil),
          sources: lockout.sources.map((s) => ({ source: s.source, failures: s.failures, lockedUntil: iso(s.lockedUntil), lastAttemptAt: iso(s.lastAt) })),
        },
        200,
      );
    },
  );

  api.openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{accountId}/devices/{deviceId}/lockout",
      tags,
      security,
      summary: "Lift the device's lock and every source lock now, and forget the failures",
      request: { params: DeviceParams },
      responses: { 200: json(Device, "The device, unlocked."), ...problems(401, 403, 404) },
    }),
    async (c) => {
      const { accountId, deviceId } = c.req.valid("param");
      const stub = await registrarFor(c, accountId);
      return c.json(deviceView(unwrap(await stub.clearLockout(deviceId))), 200);
    },
  );
}
