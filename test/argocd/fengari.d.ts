// The part of fengari (a Lua VM in JavaScript; it ships no types) that test/argocd/health.ts uses.
declare module "fengari" {
  export type LuaState = { readonly __lua_state: unique symbol };
  type LuaString = Uint8Array;
  export function to_luastring(s: string): LuaString;
  export function to_jsstring(s: LuaString | null): string;
  export const lua: {
    LUA_OK: number;
    LUA_TSTRING: number;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushstring(L: LuaState, s: LuaString): void;
    lua_newtable(L: LuaState): void;
    lua_rawseti(L: LuaState, index: number, i: number): void;
    lua_setfield(L: LuaState, index: number, k: LuaString): void;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_getfield(L: LuaState, index: number, k: LuaString): number;
    lua_tostring(L: LuaState, index: number): LuaString | null;
    lua_pop(L: LuaState, n: number): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
  };
  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadstring(L: LuaState, s: LuaString): number;
  };
  export const lualib: { luaL_openlibs(L: LuaState): void };
}
