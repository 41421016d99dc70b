// Runs an Argo CD health script (Lua; Argo CD runs gopher-lua, Lua 5.1) on an object, as Argo CD
// does: the object as the global `obj`, the script's returned table read as {status, message}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lauxlib, lua, lualib, to_jsstring, to_luastring, type LuaState } from "fengari";

/** The health check the README tells Argo CD users to install. */
export const HEALTH_LUA = readFileSync(
  join(import.meta.dirname, "..", "..", "config", "argocd", "health.lua"),
  "utf8",
);

function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
  else if (typeof value === "number") lua.lua_pushnumber(L, value);
  else if (typeof value === "string") lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_newtable(L);
    value.forEach((v: unknown, i) => {
      push(L, v);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === "object") {
    lua.lua_newtable(L);
    for (const [k, v] of Object.entries(value)) {
      push(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else throw new TypeError(`cannot give Lua a ${typeof value}`);
}

function field(L: LuaState, name: string): string {
  lua.lua_getfield(L, -1, to_luastring(name));
  const text = to_jsstring(lua.lua_tostring(L, -1) ?? to_luastring(""));
  lua.lua_pop(L, 1);
  return text;
}

export interface ArgoHealth {
  status: string;
  message: string;
}

export function argoHealth(script: string, obj: unknown): ArgoHealth {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  push(L, JSON.parse(JSON.stringify(obj)) as unknown);
  lua.lua_setglobal(L, to_luastring("obj"));
  if (
    lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK ||
    lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK
  )
    throw new Error(`health script failed: ${to_jsstring(lua.lua_tostring(L, -1) ?? to_luastring(""))}`);
  return { status: field(L, "status"), message: field(L, "message") };
}
